# csrc/common/lp_common.h: the status convention of every csrc/ module.
cdef extern from "common/lp_common.h" nogil:
    enum lp_status:
        LP_OK
        LP_ERR_NOMEM
        LP_ERR_ARG
        LP_ERR_INIT
