/* MPEG-7 video signature arithmetic (FFmpeg `signature` filter, spec/vsig.md §1-§3), written once for the
 * CPU (csrc/vsig, any C99 compiler) and the GPU (kernels/[.]cu files, nvcc or NVRTC).
 *
 * Everything here is host/device portable: integer arithmetic only, no libc calls, no allocation, no recursion,
 * fixed-size arrays. All uint64 arithmetic wraps mod 2^64 exactly as FFmpeg's does; that wrap is what makes
 * 3840x2160, 1919x1081 or 4097x2161 output content-dependent, and reproducing it literally is what makes every
 * size bit-exact (spec §1.4). Signed results are produced by converting uint64 to int64 (two's complement, as
 * gcc/clang/nvcc do), never by signed overflow.
 *
 * Per-frame pipeline:
 *   blocks[32*32] (uint32 luma sums, vsig_block_of partition)  -> vsig_scaled_sat -> sat[32*32] (uint64)
 *   sat -> vsig_element_value (380 elements) -> per-category threshold (vsig_category_threshold)
 *       -> vsig_ternary -> vsig_pack_framesig / vsig_words
 *   D-elements -> vsig_element_confidence_clamped -> vsig_confidence_add (histogram) -> vsig_confidence
 * vsig_frame_signature() runs the whole pipeline for one frame (vsig_frame_signature_sat() from a ready SAT); a
 * GPU kernel may instead spread the elements of a frame over the threads of a block (vsig_element_category maps a
 * thread's element index) and call the same building blocks.
 *
 * Block sums: block row r covers pixel rows [p.row_start[r], p.row_start[r+1]) and block column c covers columns
 * [p.col_start[c], p.col_start[c+1]), which is exactly FFmpeg's floor(32y/H), floor(32x/W) assignment
 * (vsig_block_of); a GPU reduction may use either form.
 *
 * The region table (spec Appendix A) is data from ISO/IEC 15938-3 as used by FFmpeg; it is regenerated from the
 * spec with scripts/gen_vsig_tables.py.
 */
#ifndef LP_VSIG_COMMON_H
#define LP_VSIG_COMMON_H

#if defined(__CUDACC_RTC__) && !defined(LP_VSIG_HAVE_STDINT)
/* NVRTC (CuPy RawModule) has no <stdint.h>; define LP_VSIG_HAVE_STDINT if these types already exist. */
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef int int32_t;
typedef unsigned long long uint64_t;
typedef long long int64_t;
#else
#include <stdint.h>
#endif

#ifdef __CUDACC__
#define LP_HOST_DEVICE __host__ __device__
#else
#define LP_HOST_DEVICE
#endif

/* LP_CONST_TABLE(type, name, count, {init}) defines a read-only table readable from LP_HOST_DEVICE code through
 * name##_at(i). Under nvcc the device copy lives in __constant__ memory and the host copy is a plain static const
 * array; nvcc forbids reading either one from the other side, so the accessor picks by __CUDA_ARCH__. */
#ifdef __CUDACC__
#define LP_CONST_TABLE(type, name, count, ...)                                                                   \
    static __constant__ type name##_dev[count] = __VA_ARGS__;                                                   \
    static const type name##_host[count] = __VA_ARGS__;                                                         \
    LP_HOST_DEVICE static inline type name##_at(int i) { return LP_CONST_PICK(name)[i]; }
#ifdef __CUDA_ARCH__
#define LP_CONST_PICK(name) name##_dev
#else
#define LP_CONST_PICK(name) name##_host
#endif
#else
#define LP_CONST_TABLE(type, name, count, ...)                                                                   \
    static const type name##_host[count] = __VA_ARGS__;                                                         \
    static inline type name##_at(int i) { return name##_host[i]; }
#endif

/* ---- sizes and constants (spec §1.3, §2.1, §2.4, §3) ------------------------------------------------------- */
#define VSIG_MIN_DIM 32            /* FFmpeg divides by zero (SIGFPE) below this; callers must reject smaller */
#define VSIG_MAX_DIM 65536         /* keeps every block sum < 2^32 (255 * 2048 * 2048) */
#define VSIG_GRID 32               /* 32x32 block grid */
#define VSIG_NCELLS 1024
#define VSIG_NELEM 380
#define VSIG_NDIFF 348             /* DIFFELEM_SIZE: D-elements, whose confidences give the frame confidence */
#define VSIG_NCAT 10
#define VSIG_NBLOCKS 1014          /* region rectangles in the table */
#define VSIG_MAX_CAT_ELEMS 116     /* D1 */
#define VSIG_FRAMESIG_BYTES 76     /* 380 trits, 5 per byte */
#define VSIG_NWORDS 5
#define VSIG_WORD_TRITS 5
#define VSIG_BAG_BYTES 31          /* 243 bits, MSB first */
#define VSIG_COARSE_STEP 45        /* a segment starts every 45 frames ... */
#define VSIG_COARSE_SIZE 90        /* ... and spans up to 90 */
#define VSIG_BLOCK_LCM 476985600ull           /* L: LCM of every region area */
#define VSIG_DIVIDE_LIMIT 75830562ull         /* floor((2^63-1) / (255 * L)) */
#define VSIG_DIVIDE_PRECISION 65536ull        /* P in divide mode */

/* ---- region table (spec Appendix A) ------------------------------------------------------------------------ */
/* Block k packed as x0 | y0<<5 | x1<<10 | y1<<15, inclusive corners, x = column. */
LP_CONST_TABLE(uint32_t, VSIG_BLOCKS, VSIG_NBLOCKS, {
    0x39c00u, 0x3bc08u, 0x79d00u, 0x7bd08u, 0x3dc10u, 0x3fc18u, 0x7dd10u, 0x7fd18u,
    0xb9e00u, 0xbbe08u, 0xf9f00u, 0xfbf08u, 0xbde10u, 0xbfe18u, 0xfdf10u, 0xfff18u,
    0x7bc00u, 0x7fc10u, 0xfbe00u, 0xffe10u, 0x4a442u, 0x4cc4cu, 0x4f456u, 0x9a582u,
    0x9cd8cu, 0x9f596u, 0xea6c2u, 0xececcu, 0xef6d6u, 0xb5929u, 0xce4c6u, 0xe7063u,
    0x18400u, 0x18c02u, 0x09c04u, 0x19c44u, 0x38cc0u, 0x28c80u, 0x39c86u, 0x39484u,
    0x1a408u, 0x1ac0au, 0x0bc0cu, 0x1bc4cu, 0x3acc8u, 0x2ac88u, 0x3bc8eu, 0x3b48cu,
    0x58500u, 0x58d02u, 0x49d04u, 0x59d44u, 0x78dc0u, 0x68d80u, 0x79d86u, 0x79584u,
    0x5a508u, 0x5ad0au, 0x4bd0cu, 0x5bd4cu, 0x7adc8u, 0x6ad88u, 0x7bd8eu, 0x7b58cu,
    0x0cc10u, 0x1cc50u, 0x1dc16u, 0x1d414u, 0x3c490u, 0x3cc92u, 0x3dcd4u, 0x2dc94u,
    0x0ec18u, 0x1ec58u, 0x1fc1eu, 0x1f41cu, 0x3e498u, 0x3ec9au, 0x3fcdcu, 0x2fc9cu,
    0x4cd10u, 0x5cd50u, 0x5dd16u, 0x5d514u, 0x7c590u, 0x7cd92u, 0x7ddd4u, 0x6dd94u,
    0x4ed18u, 0x5ed58u, 0x5fd1eu, 0x5f51cu, 0x7e598u, 0x7ed9au, 0x7fddcu, 0x6fd9cu,
    0x88e00u, 0x98e40u, 0x99e06u, 0x99604u, 0xb8680u, 0xb8e82u, 0xb9ec4u, 0xa9e84u,
    0x8ae08u, 0x9ae48u, 0x9be0eu, 0x9b60cu, 0xba688u, 0xbae8au, 0xbbeccu, 0xabe8cu,
    0xc8f00u, 0xd8f40u, 0xd9f06u, 0xd9704u, 0xf8780u, 0xf8f82u, 0xf9fc4u, 0xe9f84u,
    0xcaf08u, 0xdaf48u, 0xdbf0eu, 0xdb70cu, 0xfa788u, 0xfaf8au, 0xfbfccu, 0xebf8cu,
    0x9c610u, 0x9ce12u, 0x8de14u, 0x9de54u, 0xbced0u, 0xace90u, 0xbde96u, 0xbd694u,
    0x9e618u, 0x9ee1au, 0x8fe1cu, 0x9fe5cu, 0xbeed8u, 0xaee98u, 0xbfe9eu, 0xbf69cu,
    0xdc710u, 0xdcf12u, 0xcdf14u, 0xddf54u, 0xfcfd0u, 0xecf90u, 0xfdf96u, 0xfd794u,
    0xde718u, 0xdef1au, 0xcff1cu, 0xdff5cu, 0xfefd8u, 0xeef98u, 0xfff9eu, 0xff79cu,
    0x28c42u, 0x29444u, 0x1a446u, 0x2a486u, 0x49502u, 0x394c2u, 0x4a4c8u, 0x49cc6u,
    0x2b44cu, 0x2bc4eu, 0x1cc50u, 0x2cc90u, 0x4bd0cu, 0x3bcccu, 0x4ccd2u, 0x4c4d0u,
    0x2dc56u, 0x2e458u, 0x1f45au, 0x2f49au, 0x4e516u, 0x3e4d6u, 0x4f4dcu, 0x4ecdau,
    0x78d82u, 0x79584u, 0x6a586u, 0x7a5c6u, 0x99642u, 0x89602u, 0x9a608u, 0x99e06u,
    0x6bd8cu, 0x7bdccu, 0x6cd90u, 0x7cdd0u, 0x9be4cu, 0x8be0cu, 0x9ce50u, 0x8ce10u,
    0x7dd96u, 0x7e598u, 0x6f59au, 0x7f5dau, 0x9e656u, 0x8e616u, 0x9f61cu, 0x9ee1au,
    0xc8ec2u, 0xc96c4u, 0xba6c6u, 0xca706u, 0xe9782u, 0xd9742u, 0xea748u, 0xe9f46u,
    0xcb6ccu, 0xcbeceu, 0xbced0u, 0xccf10u, 0xebf8cu, 0xdbf4cu, 0xecf52u, 0xec750u,
    0xcded6u, 0xce6d8u, 0xbf6dau, 0xcf71au, 0xee796u, 0xde756u, 0xef75cu, 0xeef5au,
    0x428e7u, 0x52927u, 0x530ebu, 0x538edu, 0x72167u, 0x72969u, 0x6396bu, 0x739abu,
    0x450f1u, 0x55131u, 0x558f5u, 0x560f7u, 0x74971u, 0x75173u, 0x66175u, 0x761b5u,
    0x92a27u, 0xa2a67u, 0xa322bu, 0xa3a2du, 0xc22a7u, 0xc2aa9u, 0xb3aabu, 0xc3aebu,
    0x95231u, 0xa5271u, 0xa5a35u, 0xa6237u, 0xc4ab1u, 0xc52b3u, 0xb62b5u, 0xc62f5u,
    0x18c00u, 0x39c84u, 0x19c04u, 0x38c80u, 0x1ac08u, 0x3bc8cu, 0x1bc0cu, 0x3ac88u,
    0x1cc10u, 0x3dc94u, 0x1dc14u, 0x3cc90u, 0x1ec18u, 0x3fc9cu, 0x1fc1cu, 0x3ec98u,
    0x58d00u, 0x79d84u, 0x59d04u, 0x78d80u, 0x5ad08u, 0x7bd8cu, 0x5bd0cu, 0x7ad88u,
    0x5cd10u, 0x7dd94u, 0x5dd14u, 0x7cd90u, 0x5ed18u, 0x7fd9cu, 0x5fd1cu, 0x7ed98u,
    0x98e00u, 0xb9e84u, 0x99e04u, 0xb8e80u, 0x9ae08u, 0xbbe8cu, 0x9be0cu, 0xbae88u,
    0x9ce10u, 0xbde94u, 0x9de14u, 0xbce90u, 0x9ee18u, 0xbfe9cu, 0x9fe1cu, 0xbee98u,
    0xd8f00u, 0xf9f84u, 0xd9f04u, 0xf8f80u, 0xdaf08u, 0xfbf8cu, 0xdbf0cu, 0xfaf88u,
    0xdcf10u, 0xfdf94u, 0xddf14u, 0xfcf90u, 0xdef18u, 0xfff9cu, 0xdff1cu, 0xfef98u,
    0x39c84u, 0x5ad08u, 0x3ac88u, 0x59d04u, 0x3bc8cu, 0x5cd10u, 0x3cc90u, 0x5bd0cu,
    0x3dc94u, 0x5ed18u, 0x3ec98u, 0x5dd14u, 0x79d84u, 0x9ae08u, 0x7ad88u, 0x99e04u,
    0x7bd8cu, 0x9ce10u, 0x7cd90u, 0x9be0cu, 0x7dd94u, 0x9ee18u, 0x7ed98u, 0x9de14u,
    0xb9e84u, 0xdaf08u, 0xbae88u, 0xd9f04u, 0xbbe8cu, 0xdcf10u, 0xbce90u, 0xdbf0cu,
    0xbde94u, 0xdef18u, 0xbee98u, 0xddf14u, 0x52821u, 0x5502bu, 0x52821u, 0x57835u,
    0x52821u, 0xa2961u, 0x52821u, 0xa516bu, 0x52821u, 0xa7975u, 0x52821u, 0xf2aa1u,
    0x52821u, 0xf52abu, 0x52821u, 0xf7ab5u, 0x5502bu, 0x57835u, 0x5502bu, 0xa2961u,
    0x5502bu, 0xa516bu, 0x5502bu, 0xa7975u, 0x5502bu, 0xf2aa1u, 0x5502bu, 0xf52abu,
    0x5502bu, 0xf7ab5u, 0x57835u, 0xa2961u, 0x57835u, 0xa516bu, 0x57835u, 0xa7975u,
    0x57835u, 0xf2aa1u, 0x57835u, 0xf52abu, 0x57835u, 0xf7ab5u, 0xa2961u, 0xa516bu,
    0xa2961u, 0xa7975u, 0xa2961u, 0xf2aa1u, 0xa2961u, 0xf52abu, 0xa2961u, 0xf7ab5u,
    0xa516bu, 0xa7975u, 0xa516bu, 0xf2aa1u, 0xa516bu, 0xf52abu, 0xa516bu, 0xf7ab5u,
    0xa7975u, 0xf2aa1u, 0xa7975u, 0xf52abu, 0xa7975u, 0xf7ab5u, 0xf2aa1u, 0xf52abu,
    0xf2aa1u, 0xf7ab5u, 0xf52abu, 0xf7ab5u, 0x931a7u, 0x961b3u, 0x648edu, 0xc4a6du,
    0x630e7u, 0xc6273u, 0x660f3u, 0xc3267u, 0x648edu, 0x961b3u, 0x961b3u, 0xc4a6du,
    0xc4a6du, 0x931a7u, 0x931a7u, 0x648edu, 0x630e7u, 0x660f3u, 0x660f3u, 0xc6273u,
    0xc6273u, 0xc3267u, 0xc3267u, 0x630e7u, 0x949adu, 0x3482du, 0x949adu, 0x979b9u,
    0x949adu, 0xf4b2du, 0x949adu, 0x919a1u, 0x3482du, 0xf4b2du, 0x919a1u, 0x979b9u,
    0x33027u, 0x36033u, 0xf3327u, 0xf6333u, 0x618e1u, 0xc1a61u, 0x678f9u, 0xc7a79u,
    0x33027u, 0x618e1u, 0x36033u, 0x678f9u, 0xc7a79u, 0xf6333u, 0xc1a61u, 0xf3327u,
    0x31821u, 0x37839u, 0x37839u, 0xf7b39u, 0xf7b39u, 0xf1b21u, 0xf1b21u, 0x31821u,
    0x1a821u, 0x38c81u, 0x3a888u, 0x52901u, 0x39c84u, 0x1d02bu, 0x3b48bu, 0x3d092u,
    0x5510bu, 0x3c48eu, 0x1f835u, 0x3dc95u, 0x3f89cu, 0x57915u, 0x3ec98u, 0x6a961u,
    0x88dc1u, 0x8a9c8u, 0xa2a41u, 0x89dc4u, 0x6d16bu, 0x8b5cbu, 0x8d1d2u, 0xa524bu,
    0x8c5ceu, 0x6f975u, 0x8ddd5u, 0x8f9dcu, 0xa7a55u, 0x8edd8u, 0xbaaa1u, 0xd8f01u,
    0xdab08u, 0xf2b81u, 0xd9f04u, 0xbd2abu, 0xdb70bu, 0xdd312u, 0xf538bu, 0xdc70eu,
    0xbfab5u, 0xddf15u, 0xdfb1cu, 0xf7b95u, 0xdef18u, 0x43cc6u, 0x62126u, 0x63d2du,
    0x7bda6u, 0x63129u, 0x464d0u, 0x64930u, 0x66537u, 0x7e5b0u, 0x65933u, 0x93e06u,
    0xb2266u, 0xb3e6du, 0xcbee6u, 0xb3269u, 0x96610u, 0xb4a70u, 0xb6677u, 0xce6f0u,
    0xb5a73u, 0x1bc26u, 0x3a086u, 0x3bc8du, 0x53d06u, 0x3b089u, 0x1e430u, 0x3c890u,
    0x3e497u, 0x56510u, 0x3d893u, 0x428c1u, 0x60d21u, 0x62928u, 0x7a9a1u, 0x61d24u,
    0x450cbu, 0x6352bu, 0x65132u, 0x7d1abu, 0x6452eu, 0x478d5u, 0x65d35u, 0x6793cu,
    0x7f9b5u, 0x66d38u, 0x6bd66u, 0x8a1c6u, 0x8bdcdu, 0xa3e46u, 0x8b1c9u, 0x6e570u,
    0x8c9d0u, 0x8e5d7u, 0xa6650u, 0x8d9d3u, 0x92a01u, 0xb0e61u, 0xb2a68u, 0xcaae1u,
    0xb1e64u, 0x9520bu, 0xb366bu, 0xb5272u, 0xcd2ebu, 0xb466eu, 0x97a15u, 0xb5e75u,
    0xb7a7cu, 0xcfaf5u, 0xb6e78u, 0xbbea6u, 0xda306u, 0xdbf0du, 0xf3f86u, 0xdb309u,
    0xbe6b0u, 0xdcb10u, 0xde717u, 0xf6790u, 0xddb13u, 0x33842u, 0x498e2u, 0x4b8eau,
    0x73942u, 0x4a4e7u, 0x34c47u, 0x4ace7u, 0x4ccefu, 0x74d47u, 0x4b8ecu, 0x3604cu,
    0x4c0ecu, 0x4e0f4u, 0x7614cu, 0x4ccf1u, 0x37451u, 0x4d4f1u, 0x4f4f9u, 0x77551u,
    0x4e0f6u, 0x5b8e2u, 0x71982u, 0x7398au, 0x9b9e2u, 0x72587u, 0x5cce7u, 0x72d87u,
    0x74d8fu, 0x9cde7u, 0x7398cu, 0x5e0ecu, 0x7418cu, 0x76194u, 0x9e1ecu, 0x74d91u,
    0x5f4f1u, 0x75591u, 0x77599u, 0x9f5f1u, 0x76196u, 0x83982u, 0x99a22u, 0x9ba2au,
    0xc3a82u, 0x9a627u, 0x84d87u, 0x9ae27u, 0x9ce2fu, 0xc4e87u, 0x9ba2cu, 0x8618cu,
    0x9c22cu, 0x9e234u, 0xc628cu, 0x9ce31u, 0x87591u, 0x9d631u, 0x9f639u, 0xc7691u,
    0x9e236u, 0xaba22u, 0xc1ac2u, 0xc3acau, 0xebb22u, 0xc26c7u, 0xace27u, 0xc2ec7u,
    0xc4ecfu, 0xecf27u, 0xc3accu, 0xae22cu, 0xc42ccu, 0xc62d4u, 0xee32cu, 0xc4ed1u,
    0xaf631u, 0xc56d1u, 0xc76d9u, 0xef731u, 0xc62d6u, 0x23468u, 0x324a8u, 0x334acu,
    0x434e8u, 0x32caau, 0x2486du, 0x338adu, 0x348b1u, 0x448edu, 0x340afu, 0x25c72u,
    0x34cb2u, 0x35cb6u, 0x45cf2u, 0x354b4u, 0x4a103u, 0x59143u, 0x5a147u, 0x6a183u,
    0x59945u, 0x4b508u, 0x5a548u, 0x5b54cu, 0x6b588u, 0x5ad4au, 0x4c90du, 0x5b94du,
    0x5c951u, 0x6c98du, 0x5c14fu, 0x4dd12u, 0x5cd52u, 0x5dd56u, 0x6dd92u, 0x5d554u,
    0x4f117u, 0x5e157u, 0x5f15bu, 0x6f197u, 0x5e959u, 0x721a3u, 0x811e3u, 0x821e7u,
    0x92223u, 0x819e5u, 0x735a8u, 0x825e8u, 0x835ecu, 0x93628u, 0x82deau, 0x749adu,
    0x839edu, 0x849f1u, 0x94a2du, 0x841efu, 0x75db2u, 0x84df2u, 0x85df6u, 0x95e32u,
    0x855f4u, 0x771b7u, 0x861f7u, 0x871fbu, 0x97237u, 0x869f9u, 0x9a243u, 0xa9283u,
    0xaa287u, 0xba2c3u, 0xa9a85u, 0x9b648u, 0xaa688u, 0xab68cu, 0xbb6c8u, 0xaae8au,
    0x9ca4du, 0xaba8du, 0xaca91u, 0xbcacdu, 0xac28fu, 0x9de52u, 0xace92u, 0xade96u,
    0xbded2u, 0xad694u, 0x9f257u, 0xae297u, 0xaf29bu, 0xbf2d7u, 0xaea99u, 0xc36e8u,
    0xd2728u, 0xd372cu, 0xe3768u, 0xd2f2au, 0xc4aedu, 0xd3b2du, 0xd4b31u, 0xe4b6du,
    0xd432fu, 0xc5ef2u, 0xd4f32u, 0xd5f36u, 0xe5f72u, 0xd5734u, 0x530a3u, 0x62865u,
    0x550abu, 0x6486du, 0x570b3u, 0x66875u, 0x931a3u, 0xa2965u, 0x951abu, 0xa496du,
    0x971b3u, 0xa6975u, 0xd32a3u, 0xe2a65u, 0xd52abu, 0xe4a6du, 0xd72b3u, 0xe6a75u,
    0x38c80u, 0x3ac88u, 0x39c84u, 0x19c04u, 0x59d04u, 0x39c84u, 0x3a085u, 0x3c08du,
    0x3b089u, 0x1b009u, 0x5b109u, 0x3b089u, 0x3b48au, 0x3d492u, 0x3c48eu, 0x1c40eu,
    0x5c50eu, 0x3c48eu, 0x3c88fu, 0x3e897u, 0x3d893u, 0x1d813u, 0x5d913u, 0x3d893u,
    0x3dc94u, 0x3fc9cu, 0x3ec98u, 0x1ec18u, 0x5ed18u, 0x3ec98u, 0x60d20u, 0x62d28u,
    0x61d24u, 0x41ca4u, 0x81da4u, 0x61d24u, 0x62125u, 0x6412du, 0x63129u, 0x430a9u,
    0x831a9u, 0x63129u, 0x6352au, 0x65532u, 0x6452eu, 0x444aeu, 0x845aeu, 0x6452eu,
    0x6492fu, 0x66937u, 0x65933u, 0x458b3u, 0x859b3u, 0x65933u, 0x65d34u, 0x67d3cu,
    0x66d38u, 0x46cb8u, 0x86db8u, 0x66d38u, 0x88dc0u, 0x8adc8u, 0x89dc4u, 0x69d44u,
    0xa9e44u, 0x89dc4u, 0x8a1c5u, 0x8c1cdu, 0x8b1c9u, 0x6b149u, 0xab249u, 0x8b1c9u,
    0x8b5cau, 0x8d5d2u, 0x8c5ceu, 0x6c54eu, 0xac64eu, 0x8c5ceu, 0x8c9cfu, 0x8e9d7u,
    0x8d9d3u, 0x6d953u, 0xada53u, 0x8d9d3u, 0x8ddd4u, 0x8fddcu, 0x8edd8u, 0x6ed58u,
    0xaee58u, 0x8edd8u, 0xb0e60u, 0xb2e68u, 0xb1e64u, 0x91de4u, 0xd1ee4u, 0xb1e64u,
    0xb2265u, 0xb426du, 0xb3269u, 0x931e9u, 0xd32e9u, 0xb3269u, 0xb366au, 0xb5672u,
    0xb466eu, 0x945eeu, 0xd46eeu, 0xb466eu, 0xb4a6fu, 0xb6a77u, 0xb5a73u, 0x959f3u,
    0xd5af3u, 0xb5a73u, 0xb5e74u, 0xb7e7cu, 0xb6e78u, 0x96df8u, 0xd6ef8u, 0xb6e78u,
    0xd8f00u, 0xdaf08u, 0xd9f04u, 0xb9e84u, 0xf9f84u, 0xd9f04u, 0xda305u, 0xdc30du,
    0xdb309u, 0xbb289u, 0xfb389u, 0xdb309u, 0xdb70au, 0xdd712u, 0xdc70eu, 0xbc68eu,
    0xfc78eu, 0xdc70eu, 0xdcb0fu, 0xdeb17u, 0xddb13u, 0xbda93u, 0xfdb93u, 0xddb13u,
    0xddf14u, 0xdff1cu, 0xdef18u, 0xbee98u, 0xfef98u, 0xdef18u, 0x19c00u, 0x39c80u,
    0x3ac08u, 0x3bc0cu, 0x78d00u, 0x79d04u, 0x5bd08u, 0x7bd88u, 0x3cc10u, 0x3dc14u,
    0x1fc18u, 0x3fc98u, 0x5dd10u, 0x7dd90u, 0x7ed18u, 0x7fd1cu, 0xb8e00u, 0xb9e04u,
    0x9be08u, 0xbbe88u, 0xd9f00u, 0xf9f80u, 0xfaf08u, 0xfbf0cu, 0x9de10u, 0xbde90u,
    0xbee18u, 0xbfe1cu, 0xfcf10u, 0xfdf14u, 0xdff18u, 0xfff98u, 0x79c00u, 0x7bc08u,
    0x3fc10u, 0x7fd10u, 0xbbe00u, 0xfbf00u, 0xfde10u, 0xffe18u
})

/* One row per category, in element order. */
typedef struct {
    uint8_t av_elem;      /* 1: "average" element (region mean - 128), 0: difference element */
    uint8_t left_count;   /* the first left_count blocks of an element are its LEFT region, the rest RIGHT */
    uint8_t block_count;  /* blocks per element */
    uint8_t elem_count;   /* elements in the category */
    uint16_t block_offset;/* index of the category's first block in VSIG_BLOCKS */
    uint16_t elem_offset; /* global index of the category's first element (0..379) */
    uint8_t th_index;     /* (int)(elem_count * 0.333): position of the threshold in the sorted |v| */
} vsig_category;

/* av, left, blocks/elem, elems, first block, first element, threshold index */
LP_CONST_TABLE(vsig_category, VSIG_CATEGORIES, VSIG_NCAT, {
    {1, 1, 1,  20,    0,   0,  6}, /* A1 */
    {1, 1, 1,  12,   20,  20,  3}, /* A2 */
    {0, 1, 2, 116,   32,  32, 38}, /* D1 */
    {0, 2, 4,  25,  264, 148,  8}, /* D2 */
    {0, 1, 2,  36,  364, 173, 11}, /* D3 */
    {0, 1, 2,  30,  436, 209,  9}, /* D4 */
    {0, 4, 5,  62,  496, 239, 20}, /* D5 */
    {0, 1, 2,   9,  806, 301,  2}, /* D6 */
    {0, 2, 3,  50,  824, 310, 16}, /* D7 */
    {0, 1, 2,  20,  974, 360,  6}, /* D8 */
})

/* Element indices of the five words, most significant trit first (spec §2.4). */
LP_CONST_TABLE(uint16_t, VSIG_WORD_ELEMS, VSIG_NWORDS * VSIG_WORD_TRITS, {
    210, 217, 219, 274, 334,
    44, 175, 233, 270, 273,
    57, 70, 103, 237, 269,
    100, 285, 295, 337, 354,
    101, 102, 111, 275, 296
})

/* ---- per-stream constants (spec §1.3) ---------------------------------------------------------------------- */
typedef struct {
    uint32_t width, height;
    uint32_t dh1, dh2, dw1, dw2;
    uint64_t D;                 /* dh1*dh2*dw1*dw2 */
    int divide;                 /* FFmpeg's "divide" mode (large frames) */
    uint64_t P;                 /* precision factor: L, or 65536 in divide mode */
    uint64_t q1;                /* per-block divisor: 1, or D in divide mode */
    uint64_t q2;                /* D, or 1 in divide mode */
    uint64_t scale;             /* P*q2: one luma unit of a region mean, as scaled */
    uint32_t row_start[VSIG_GRID + 1];  /* block row r covers pixel rows [row_start[r], row_start[r+1]) */
    uint32_t col_start[VSIG_GRID + 1];  /* block column c covers pixel columns [col_start[c], col_start[c+1]) */
    uint32_t row_weight[VSIG_GRID];     /* a_r */
    uint32_t col_weight[VSIG_GRID];     /* b_c */
} vsig_params;

/* Returns the block row/column (0..31) of pixel row/column pos in a dimension of size pixels: floor(32*pos/size),
 * FFmpeg's partition rule (spec §1.2). */
LP_HOST_DEVICE static inline uint32_t vsig_block_of(uint32_t pos, uint32_t size)
{
    return (uint32_t)(((uint64_t)pos * VSIG_GRID) / size);
}

/* Returns the first pixel row/column of block row/column b (0..32): ceil(size*b/32), so that pixel p belongs to
 * block b iff vsig_block_start(b) <= p < vsig_block_start(b+1). */
LP_HOST_DEVICE static inline uint32_t vsig_block_start(uint32_t b, uint32_t size)
{
    return (uint32_t)(((uint64_t)size * b + VSIG_GRID - 1) / VSIG_GRID);
}

/* d1 = floor(n/32); d2 = d1+1 if n is not a multiple of 32, else 1 (not d1: FFmpeg's rule). */
LP_HOST_DEVICE static inline void vsig_dims(uint32_t n, uint32_t *d1, uint32_t *d2)
{
    *d1 = n / VSIG_GRID;
    *d2 = (n % VSIG_GRID) ? *d1 + 1 : 1;
}

/* Returns 1 if FFmpeg switches to divide mode for a width x height stream: the uint64 product
 * floor(W/32)*(floor(W/32)+1)*(((H/32)*H)/32 + 1) (literal C precedence) exceeds VSIG_DIVIDE_LIMIT. */
LP_HOST_DEVICE static inline int vsig_is_divide_mode(uint32_t width, uint32_t height)
{
    uint64_t w32 = width / VSIG_GRID;
    uint64_t h = height;
    return w32 * (w32 + 1) * ((h / VSIG_GRID) * h / VSIG_GRID + 1) > VSIG_DIVIDE_LIMIT;
}

/* Fills *p with the per-stream constants of a width x height stream.
 * Returns 1 on success, 0 if a dimension is below VSIG_MIN_DIM or above VSIG_MAX_DIM (then *p is unusable). */
LP_HOST_DEVICE static inline int vsig_params_init(vsig_params *p, uint32_t width, uint32_t height)
{
    uint32_t i, cnt, d1, d2;
    if (width < VSIG_MIN_DIM || height < VSIG_MIN_DIM || width > VSIG_MAX_DIM || height > VSIG_MAX_DIM)
        return 0;
    p->width = width;
    p->height = height;
    vsig_dims(height, &p->dh1, &p->dh2);
    vsig_dims(width, &p->dw1, &p->dw2);
    p->D = (uint64_t)p->dh1 * p->dh2 * p->dw1 * p->dw2;
    p->divide = vsig_is_divide_mode(width, height);
    p->P = p->divide ? VSIG_DIVIDE_PRECISION : VSIG_BLOCK_LCM;
    p->q1 = p->divide ? p->D : 1;
    p->q2 = p->divide ? 1 : p->D;
    p->scale = p->P * p->q2;
    for (i = 0; i <= VSIG_GRID; i++) {
        p->row_start[i] = vsig_block_start(i, height);
        p->col_start[i] = vsig_block_start(i, width);
    }
    /* Each block is weighted so that count * weight = d1*d2 for every block: blocks of d1 pixels get d2 and
     * blocks of d2 pixels get d1 (all weights 1 when the size is a multiple of 32). */
    for (i = 0; i < VSIG_GRID; i++) {
        d1 = p->dh1; d2 = p->dh2;
        cnt = p->row_start[i + 1] - p->row_start[i];
        p->row_weight[i] = (d2 == 1) ? 1 : (cnt == d1 ? d2 : d1);
        d1 = p->dw1; d2 = p->dw2;
        cnt = p->col_start[i + 1] - p->col_start[i];
        p->col_weight[i] = (d2 == 1) ? 1 : (cnt == d1 ? d2 : d1);
    }
    return 1;
}

/* ---- scaled summed-area table (spec §1.3) ------------------------------------------------------------------ */

/* Returns the scaled block term T[r][c] = ((B*a_r*b_c*P) mod 2^64) div q1 of block sum B at block row r, column c.
 * The SAT is a mod-2^64 sum of these terms, so any summation order gives the same table (the GPU kernel sums
 * rows and columns in parallel). */
LP_HOST_DEVICE static inline uint64_t vsig_scaled_term(uint32_t block, const vsig_params *p, int r, int c)
{
    uint64_t t = (uint64_t)block * ((uint64_t)p->row_weight[r] * p->P) * p->col_weight[c];
    if (p->q1 != 1)          /* divide mode only; a 64-bit division per block is the SAT's main cost */
        t /= p->q1;
    return t;
}

/* Writes the inclusive 2-D prefix sum of T[r][c] (vsig_scaled_term), all mod 2^64.
 * In:  blocks  32x32 luma block sums, row-major (blocks[r*32+c])
 *      p       stream constants
 * Out: sat     32x32 uint64, row-major (sat[y*32+x]) */
LP_HOST_DEVICE static inline void vsig_scaled_sat(const uint32_t *blocks, const vsig_params *p, uint64_t *sat)
{
    int r, c;
    for (r = 0; r < VSIG_GRID; r++) {
        uint64_t rowsum = 0;
        for (c = 0; c < VSIG_GRID; c++) {
            uint64_t t = vsig_scaled_term(blocks[r * VSIG_GRID + c], p, r, c);
            rowsum += t;
            sat[r * VSIG_GRID + c] = rowsum + (r ? sat[(r - 1) * VSIG_GRID + c] : 0);
        }
    }
}

/* Returns the mod-2^64 sum of T over the packed rectangle blk, from the SAT. */
LP_HOST_DEVICE static inline uint64_t vsig_rect_sum(const uint64_t *sat, uint32_t blk)
{
    uint32_t x0 = blk & 31, y0 = (blk >> 5) & 31, x1 = (blk >> 10) & 31, y1 = (blk >> 15) & 31;
    uint64_t s = sat[y1 * VSIG_GRID + x1];
    if (y0) s -= sat[(y0 - 1) * VSIG_GRID + x1];
    if (x0) s -= sat[y1 * VSIG_GRID + x0 - 1];
    if (x0 && y0) s += sat[(y0 - 1) * VSIG_GRID + x0 - 1];
    return s;
}

/* Returns the area (in blocks) of the packed rectangle blk. */
LP_HOST_DEVICE static inline uint32_t vsig_rect_area(uint32_t blk)
{
    return (((blk >> 10) & 31) - (blk & 31) + 1) * (((blk >> 15) & 31) - ((blk >> 5) & 31) + 1);
}

/* ---- elements (spec §2.2) ---------------------------------------------------------------------------------- */

/* Returns the value of element j (0 <= j < elem_count) of category cat (0..9):
 *   A-element: int64(mean_L) - 128*P*q2;   D-element: int64(mean_L - mean_R)   (all mod 2^64),
 * where mean_X = (sum of region sums over X, mod 2^64) div (sum of areas over X), unsigned. */
LP_HOST_DEVICE static inline int64_t vsig_element_value(const uint64_t *sat, const vsig_params *p, int cat, int j)
{
    vsig_category c = VSIG_CATEGORIES_at(cat);
    int base = c.block_offset + j * c.block_count;
    int k;
    uint64_t sum_l = 0, sum_r = 0, area_l = 0, area_r = 0, mean_l;
    for (k = 0; k < c.block_count; k++) {
        uint32_t blk = VSIG_BLOCKS_at(base + k);
        if (k < c.left_count) {
            sum_l += vsig_rect_sum(sat, blk);
            area_l += vsig_rect_area(blk);
        } else {
            sum_r += vsig_rect_sum(sat, blk);
            area_r += vsig_rect_area(blk);
        }
    }
    mean_l = sum_l / area_l;
    if (c.av_elem)
        return (int64_t)(mean_l - 128u * p->scale);
    return (int64_t)(mean_l - sum_r / area_r);
}

/* Returns |v| as uint64 (|INT64_MIN| = 2^63), the key FFmpeg sorts by. */
LP_HOST_DEVICE static inline uint64_t vsig_abs_u64(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Returns the confidence contribution of a D-element value v: |trunc(int64(8v mod 2^64) / (P*q2))|. */
LP_HOST_DEVICE static inline uint64_t vsig_element_confidence(int64_t v, const vsig_params *p)
{
    int64_t v8 = (int64_t)((uint64_t)v * 8u);
    return vsig_abs_u64(v8 / (int64_t)p->scale);
}

/* Returns min(vsig_element_confidence(v, p), 255) without a 64-bit division (slow on CPUs, emulated on GPUs):
 * |trunc(x / s)| = floor(|x| / s), and below 255*s the quotient is found by an 8-step binary search. 255*s fits
 * in uint64 for every stream: s = 65536 in divide mode, else s = L*D where the divide-mode test bounds D by
 * 90,981,144 (so 255*s <= 1.11e19 < 2^64). */
LP_HOST_DEVICE static inline uint32_t vsig_element_confidence_clamped(int64_t v, const vsig_params *p)
{
    uint64_t a = vsig_abs_u64((int64_t)((uint64_t)v * 8u));
    uint64_t s = p->scale;
    uint32_t q = 0, bit;
    if (a >= 255u * s)
        return 255;
    for (bit = 128; bit; bit >>= 1)
        if ((uint64_t)(q + bit) * s <= a)
            q += bit;
    return q;
}

/* ---- thresholds and ternarisation (spec §2.3) -------------------------------------------------------------- */

/* Sorts a[0..n) ascending in place (shell sort with Ciura's gaps: no recursion, no allocation). */
LP_HOST_DEVICE static inline void vsig_sort_u64(uint64_t *a, int n)
{
    const int gaps[6] = {57, 23, 10, 4, 1, 0};
    int g, i, j;
    for (g = 0; gaps[g]; g++) {
        int gap = gaps[g];
        for (i = gap; i < n; i++) {
            uint64_t t = a[i];
            for (j = i; j >= gap && a[j - gap] > t; j -= gap)
                a[j] = a[j - gap];
            a[j] = t;
        }
    }
}

/* Returns the threshold of a category: the th_index-th smallest |v| (uint64) of its n values.
 * In: values  the category's element values;  n, th_index  from its vsig_category row
 * Scratch: tmp  n uint64 (clobbered) */
LP_HOST_DEVICE static inline uint64_t vsig_category_threshold(const int64_t *values, int n, int th_index, uint64_t *tmp)
{
    int i;
    for (i = 0; i < n; i++)
        tmp[i] = vsig_abs_u64(values[i]);
    vsig_sort_u64(tmp, n);
    return tmp[th_index];
}

/* Returns the trit of value v under threshold th: 0 if v < -th, 2 if v > th, else 1 (ties give 1), compared as
 * int64 like FFmpeg. */
LP_HOST_DEVICE static inline uint8_t vsig_ternary(int64_t v, uint64_t th)
{
    int64_t t = (int64_t)th, nt = (int64_t)((uint64_t)0 - th);
    return v < nt ? 0 : (v <= t ? 1 : 2);
}

/* ---- packing (spec §2.4) ----------------------------------------------------------------------------------- */

/* Packs 380 trits (0..2) into 76 bytes, 5 trits per byte, first trit most significant (each byte 0..242). */
LP_HOST_DEVICE static inline void vsig_pack_framesig(const uint8_t *trits, uint8_t *framesig)
{
    int k, m;
    for (k = 0; k < VSIG_FRAMESIG_BYTES; k++) {
        uint32_t b = 0;
        for (m = 0; m < 5; m++)
            b = b * 3 + trits[5 * k + m];
        framesig[k] = (uint8_t)b;
    }
}

/* Returns trit e (0..379) of a packed 76-byte frame signature. */
LP_HOST_DEVICE static inline uint8_t vsig_trit_at(const uint8_t *framesig, int e)
{
    uint32_t b = framesig[e / 5];
    int m;
    for (m = e % 5; m < 4; m++)
        b /= 3;
    return (uint8_t)(b % 3);
}

/* Computes the 5 words (0..242) from 380 trits. */
LP_HOST_DEVICE static inline void vsig_words(const uint8_t *trits, uint8_t *words)
{
    int i, m;
    for (i = 0; i < VSIG_NWORDS; i++) {
        uint32_t w = 0;
        for (m = 0; m < VSIG_WORD_TRITS; m++)
            w = w * 3 + trits[VSIG_WORD_ELEMS_at(i * VSIG_WORD_TRITS + m)];
        words[i] = (uint8_t)w;
    }
}

/* Adds one D-element confidence (any value, or an already clamped one) to a 256-bin histogram of min(conf, 255). */
LP_HOST_DEVICE static inline void vsig_confidence_add(uint16_t *hist, uint64_t conf)
{
    hist[conf > 255 ? 255 : conf]++;
}

/* Returns the frame confidence min(sorted[174], 255) of the 348 D-element confidences, from their histogram
 * (min(., 255) is monotonic, so clamping before the selection gives the same result as FFmpeg's sort). */
LP_HOST_DEVICE static inline uint8_t vsig_confidence(const uint16_t *hist)
{
    uint32_t seen = 0;
    int b;
    for (b = 0; b < 255; b++) {
        seen += hist[b];
        if (seen > VSIG_NDIFF / 2)
            return (uint8_t)b;
    }
    return 255;
}

/* Returns the category (0..9) of global element index f (0..379) and sets *j to its index in the category; for
 * kernels that give each thread one element. */
LP_HOST_DEVICE static inline int vsig_element_category(int f, int *j)
{
    int cat = 0;
    while (cat + 1 < VSIG_NCAT && f >= VSIG_CATEGORIES_at(cat + 1).elem_offset)
        cat++;
    *j = f - VSIG_CATEGORIES_at(cat).elem_offset;
    return cat;
}

/* ---- one frame ---------------------------------------------------------------------------------------------- */

/* Computes the fine signature of one frame from its scaled SAT (vsig_scaled_sat), for callers that build the SAT
 * themselves (e.g. cooperatively in GPU shared memory).
 * In:  sat         32x32 scaled summed-area table
 *      p           stream constants
 * Out: framesig    76 bytes of packed trits;  words: 5 words;  confidence: frame confidence */
LP_HOST_DEVICE static inline void vsig_frame_signature_sat(const uint64_t *sat, const vsig_params *p,
                                                           uint8_t *framesig, uint8_t *words, uint8_t *confidence)
{
    int64_t values[VSIG_MAX_CAT_ELEMS];
    uint64_t tmp[VSIG_MAX_CAT_ELEMS];
    uint8_t trits[VSIG_NELEM];
    uint16_t hist[256];
    int cat, j;
    for (j = 0; j < 256; j++)
        hist[j] = 0;
    for (cat = 0; cat < VSIG_NCAT; cat++) {
        vsig_category c = VSIG_CATEGORIES_at(cat);
        uint64_t th;
        for (j = 0; j < c.elem_count; j++) {
            values[j] = vsig_element_value(sat, p, cat, j);
            if (!c.av_elem)
                vsig_confidence_add(hist, vsig_element_confidence_clamped(values[j], p));
        }
        th = vsig_category_threshold(values, c.elem_count, c.th_index, tmp);
        for (j = 0; j < c.elem_count; j++)
            trits[c.elem_offset + j] = vsig_ternary(values[j], th);
    }
    vsig_pack_framesig(trits, framesig);
    vsig_words(trits, words);
    *confidence = vsig_confidence(hist);
}

/* Computes the fine signature of one frame from its block sums (the whole per-frame pipeline).
 * In:  blocks      32x32 luma block sums (row-major), FFmpeg's partition of a p->width x p->height frame
 *      p           stream constants (vsig_params_init)
 * Out: framesig    76 bytes of packed trits
 *      words       5 words
 *      confidence  frame confidence
 * Uses about 11 KB of stack (8 KB SAT). */
LP_HOST_DEVICE static inline void vsig_frame_signature(const uint32_t *blocks, const vsig_params *p,
                                                       uint8_t *framesig, uint8_t *words, uint8_t *confidence)
{
    uint64_t sat[VSIG_NCELLS];
    vsig_scaled_sat(blocks, p, sat);
    vsig_frame_signature_sat(sat, p, framesig, words, confidence);
}

/* ---- verification profile (lpcore extension, docs/verification.md) ------------------------------------------
 * Per frame, compact block statistics computed in the same pass as the signature and quantised to bytes:
 *   ymean[32x32]   luma block means, rounded (from the block sums the signature uses: every pixel)
 *   yspread[32x32] 2 x standard deviation of the block's pixels on the sampled luma rows, floored, <= 255
 *   umean[16x16], vmean[16x16]  chroma cell means on the sampled chroma rows, rounded (16x16 grid per plane)
 * 2560 bytes per frame, in that order. Sampled rows are the rows y (global index) with y % step == 0; the step
 * grows with the frame so that every block keeps >= 2 sampled rows (luma: clamp(floor(H/32)/2, 1, 16); chroma:
 * clamp(floor(Hc/16)/2, 1, 16)): at 1080p second moments and chroma then cost 1/16 of a full read, while small
 * frames use every row. Reference and candidate sample the same rows, so the sampling does not add noise to a
 * comparison; an edit escapes it only if it is shorter than a step (16 rows at 1080p, 1.5 % of the height).
 * Every value is an integer function of integer sums (the spread's square root is only a guess that integer
 * comparisons settle), so CPU and GPU give the same bytes. A chroma plane of any size >= 16x16 is partitioned
 * like the luma: x -> floor(16x/Wc). */
#define VSIG_PGRID 16
#define VSIG_PCELLS 256
#define VSIG_PMIN_DIM 16
#define VSIG_PROFILE_BYTES (2 * VSIG_NCELLS + 2 * VSIG_PCELLS)

/* Chroma partition and row sampling of a profile stream (the luma partition is vsig_params). */
typedef struct {
    uint32_t cwidth, cheight;
    uint32_t ystep, cstep;               /* sampled luma / chroma rows: y % step == 0 */
    uint32_t row_start[VSIG_PGRID + 1];  /* chroma cell row r covers rows [row_start[r], row_start[r+1]) */
    uint32_t col_start[VSIG_PGRID + 1];
} vsig_profile_params;

/* Returns the first pixel of cell b (0..grid) of a grid-cell partition of size pixels: ceil(size*b/grid). */
LP_HOST_DEVICE static inline uint32_t vsig_grid_start(uint32_t b, uint32_t size, uint32_t grid)
{
    return (uint32_t)(((uint64_t)size * b + grid - 1) / grid);
}

/* Returns the number of rows y in [y0, y1) with y % step == 0. */
LP_HOST_DEVICE static inline uint32_t vsig_sampled_rows(uint32_t y0, uint32_t y1, uint32_t step)
{
    return (y1 + step - 1) / step - (y0 + step - 1) / step;
}

/* Returns the first sampled row >= y. */
LP_HOST_DEVICE static inline uint32_t vsig_next_sampled(uint32_t y, uint32_t step)
{
    return (y + step - 1) / step * step;
}

LP_HOST_DEVICE static inline uint32_t vsig_clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Fills *pp for a height-row luma plane and cwidth x cheight chroma planes. Returns 1, or 0 if a chroma side is
 * outside 16..VSIG_MAX_DIM. */
LP_HOST_DEVICE static inline int vsig_profile_params_init(vsig_profile_params *pp, uint32_t height, uint32_t cwidth,
                                                          uint32_t cheight)
{
    uint32_t i;
    pp->cwidth = cwidth;
    pp->cheight = cheight;
    pp->ystep = vsig_clamp_u32(height / VSIG_GRID / 2, 1, 16);
    pp->cstep = vsig_clamp_u32(cheight / VSIG_PGRID / 2, 1, 16);
    for (i = 0; i <= VSIG_PGRID; i++) {
        pp->row_start[i] = vsig_grid_start(i, cheight, VSIG_PGRID);
        pp->col_start[i] = vsig_grid_start(i, cwidth, VSIG_PGRID);
    }
    /* checked last so that every field is initialised either way (callers may skip the check) */
    return !(cwidth < VSIG_PMIN_DIM || cheight < VSIG_PMIN_DIM || cwidth > VSIG_MAX_DIM || cheight > VSIG_MAX_DIM);
}

/* Exact division by an invariant divisor as a multiplication (Lemire, Kaser and Kurz, "Faster remainder by direct
 * computation", 2019): with m = ceil(2^64 / d) = (2^64 - 1) div d + 1, floor(n / d) = (m * n) >> 64 for every
 * 32-bit n and 2 <= d < 2^32. The profile divides 2,560 sums per frame by a handful of distinct block sizes, so the
 * CPU pass computes each m once per block row and multiplies (a 32-bit division costs several times more); the
 * high half of the 96-bit product is formed from 32-bit halves, exact in uint64 on every device. */
LP_HOST_DEVICE static inline uint64_t vsig_div_magic(uint32_t d)
{
    return UINT64_MAX / d + 1;
}

LP_HOST_DEVICE static inline uint32_t vsig_div_by_magic(uint32_t n, uint64_t m)
{
    return (uint32_t)(((m >> 32) * n + (((m & 0xffffffffu) * n) >> 32)) >> 32);
}

/* Returns round(sum / cnt) (halves up) = (2*sum + cnt) div 2*cnt, given m = vsig_div_magic(2*cnt);
 * 1 <= cnt <= 2^22 and sum <= 255*cnt, so 2*sum + cnt < 2^31. */
LP_HOST_DEVICE static inline uint8_t vsig_profile_mean(uint32_t sum, uint32_t cnt, uint64_t m)
{
    return (uint8_t)vsig_div_by_magic(2 * sum + cnt, m);
}

/* Returns min(floor(2*sqrt(variance)), 255) of cnt pixels with sum and sum of squares: the largest s <= 255 with
 * (s*cnt)^2 <= v4 = 4*(cnt*sumsq - sum^2) = 4*cnt^2*variance, exact in uint64 for cnt <= 2^22 ((256*cnt)^2 and v4
 * < 2^61). A double square root gives a guess (inv_c2 = 1 / cnt^2, which the CPU pass computes once per block
 * row), and integer comparisons settle it whatever the guess, so the result is exact and identical on every
 * device; without a compiler square root, an 8-step binary search. */
LP_HOST_DEVICE static inline uint8_t vsig_profile_spread(uint64_t sum, uint64_t sumsq, uint64_t cnt, double inv_c2)
{
    uint64_t v4 = 4 * (cnt * sumsq - sum * sum), c2 = cnt * cnt;
    uint32_t s;
#if defined(__CUDA_ARCH__) || defined(__GNUC__) || defined(__clang__)
#ifdef __CUDA_ARCH__
    double g = sqrt((double)v4 * inv_c2);
#else
    double g = __builtin_sqrt((double)v4 * inv_c2);
#endif
    s = g >= 255.0 ? 255u : (uint32_t)g;
    while (s > 0 && (uint64_t)s * s * c2 > v4)
        s--;
    while (s < 255 && (uint64_t)(s + 1) * (s + 1) * c2 <= v4)
        s++;
#else
    uint32_t bit;
    (void)inv_c2;
    s = 0;
    for (bit = 128; bit; bit >>= 1) {
        uint64_t t = (uint64_t)(s | bit) * cnt;
        if (t * t <= v4)
            s |= bit;
    }
#endif
    return (uint8_t)s;
}

/* Returns byte k (0 <= k < VSIG_PROFILE_BYTES) of a frame's profile from its sums.
 * In:  ysum[1024]   luma block sums over every pixel (the signature's blocks)
 *      ssum[1024], ssq[1024]  luma block sums and sums of squares over the sampled rows
 *      usum[256], vsum[256]   chroma cell sums over the sampled chroma rows;  p, pp  stream constants */
LP_HOST_DEVICE static inline uint8_t vsig_profile_byte(int k, const uint32_t *ysum, const uint32_t *ssum,
                                                       const uint64_t *ssq, const uint32_t *usum,
                                                       const uint32_t *vsum, const vsig_params *p,
                                                       const vsig_profile_params *pp)
{
    if (k < 2 * VSIG_NCELLS) {
        int i = k % VSIG_NCELLS, r = i / VSIG_GRID, c = i % VSIG_GRID;
        uint32_t cols = p->col_start[c + 1] - p->col_start[c];
        if (k < VSIG_NCELLS) {
            uint32_t cnt = (p->row_start[r + 1] - p->row_start[r]) * cols;
            return vsig_profile_mean(ysum[i], cnt, vsig_div_magic(2 * cnt));
        }
        uint64_t cnt = (uint64_t)vsig_sampled_rows(p->row_start[r], p->row_start[r + 1], pp->ystep) * cols;
        return vsig_profile_spread(ssum[i], ssq[i], cnt, 1.0 / (double)(cnt * cnt));
    } else {
        int j = (k - 2 * VSIG_NCELLS) % VSIG_PCELLS, r = j / VSIG_PGRID, c = j % VSIG_PGRID;
        uint32_t cnt = vsig_sampled_rows(pp->row_start[r], pp->row_start[r + 1], pp->cstep) *
                       (pp->col_start[c + 1] - pp->col_start[c]);
        return vsig_profile_mean(k < 2 * VSIG_NCELLS + VSIG_PCELLS ? usum[j] : vsum[j], cnt, vsig_div_magic(2 * cnt));
    }
}

/* Writes the VSIG_PROFILE_BYTES profile bytes of one frame: vsig_profile_byte(k) for every k, as loops over the
 * grid rows for the CPU; the GPU kernel calls vsig_profile_byte per thread. A partition's cells have one of two
 * widths (w0 = floor(size / grid) or w0 + 1), so each row's divisors are computed for both widths once. */
LP_HOST_DEVICE static inline void vsig_profile_frame(const uint32_t *ysum, const uint32_t *ssum, const uint64_t *ssq,
                                                     const uint32_t *usum, const uint32_t *vsum,
                                                     const vsig_params *p, const vsig_profile_params *pp,
                                                     uint8_t *out)
{
    int r, c, k;
    uint32_t w0 = p->width / VSIG_GRID, cw0 = pp->cwidth / VSIG_PGRID;
    for (r = 0; r < VSIG_GRID; r++) {
        uint32_t rows = p->row_start[r + 1] - p->row_start[r];
        uint32_t srows = vsig_sampled_rows(p->row_start[r], p->row_start[r + 1], pp->ystep);
        uint64_t mean_m[2], scnt[2];
        double inv_c2[2];
        for (k = 0; k < 2; k++) {
            mean_m[k] = vsig_div_magic(2 * rows * (w0 + (uint32_t)k));
            scnt[k] = (uint64_t)srows * (w0 + (uint32_t)k);
            inv_c2[k] = 1.0 / (double)(scnt[k] * scnt[k]);
        }
        for (c = 0; c < VSIG_GRID; c++) {
            int i = r * VSIG_GRID + c;
            uint32_t cols = p->col_start[c + 1] - p->col_start[c], b = cols - w0;   /* 0 or 1 */
            out[i] = vsig_profile_mean(ysum[i], rows * cols, mean_m[b]);
            out[VSIG_NCELLS + i] = vsig_profile_spread(ssum[i], ssq[i], scnt[b], inv_c2[b]);
        }
    }
    for (r = 0; r < VSIG_PGRID; r++) {
        uint32_t srows = vsig_sampled_rows(pp->row_start[r], pp->row_start[r + 1], pp->cstep);
        uint64_t mean_m[2];
        for (k = 0; k < 2; k++)
            mean_m[k] = vsig_div_magic(2 * srows * (cw0 + (uint32_t)k));
        for (c = 0; c < VSIG_PGRID; c++) {
            int j = r * VSIG_PGRID + c;
            uint32_t cols = pp->col_start[c + 1] - pp->col_start[c], cnt = srows * cols;
            out[2 * VSIG_NCELLS + j] = vsig_profile_mean(usum[j], cnt, mean_m[cols - cw0]);
            out[2 * VSIG_NCELLS + VSIG_PCELLS + j] = vsig_profile_mean(vsum[j], cnt, mean_m[cols - cw0]);
        }
    }
}

#endif /* LP_VSIG_COMMON_H */
