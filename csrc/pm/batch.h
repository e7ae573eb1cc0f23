/* Work splitting shared by the batch loops in csrc/pm. */
#ifndef LP_PM_BATCH_H
#define LP_PM_BATCH_H

#include "common/lp_threads.h"

/* Rows per work unit handed to a thread. Batch loops use schedule(dynamic, chunk): rows are independent, so the
 * result is the same for any schedule, and on a shared machine a descheduled thread does not hold back the rest
 * of the batch. A hash row costs ~0.4 us, a secp256k1 operation ~20-50 us. */
#define LP_HASH_CHUNK 512
#define LP_SECP_CHUNK 8

#endif
