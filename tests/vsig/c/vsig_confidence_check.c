/* Checks vsig_element_confidence_clamped() against the division form on random and edge values for many sizes
 * (run by tests/test_vsig_compute.py). */
#include "vsig_common.h"
#include <stdio.h>
#include <stdlib.h>

int main(void){
  unsigned sizes[][2]={{32,32},{426,240},{1920,1080},{3840,2160},{4097,2161},{5120,2880},{7680,4320},{65536,65536},{33,35},{1919,1081}};
  int k; long bad=0; unsigned long long r=88172645463325252ull;
  for(k=0;k<10;k++){ vsig_params p; vsig_params_init(&p,sizes[k][0],sizes[k][1]);
    for(long i=0;i<2000000;i++){ r^=r<<13; r^=r>>7; r^=r<<17;
      int64_t v;
      switch(i%4){case 0: v=(int64_t)r; break; case 1: v=(int64_t)(r%(300*p.scale/8+1)) - (int64_t)(150*p.scale/8); break;
                  case 2: v=(int64_t)((r%600)*p.scale/8) + (int64_t)(r>>60) - 8; break; default: v = (int64_t)(((r%600)*p.scale + 7)/8) * ((r>>63)?-1:1);}
      uint64_t c=vsig_element_confidence(v,&p); uint32_t cc=vsig_element_confidence_clamped(v,&p);
      if ((c>255?255:c)!=cc) { if(bad<5) printf("size %u v=%lld c=%llu cc=%u\n", sizes[k][0], (long long)v,(unsigned long long)c,cc); bad++; }
    }
    int64_t edge[]={INT64_MIN, INT64_MAX, 0, -1, 1};
    for(int e=0;e<5;e++){uint64_t c=vsig_element_confidence(edge[e],&p); if((c>255?255:c)!=vsig_element_confidence_clamped(edge[e],&p)) bad++;}
  }
  printf("bad=%ld\n",bad); return bad!=0;
}
