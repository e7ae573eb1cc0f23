# Cython declarations of the csrc/ and kernels/ C headers, one .pxd per header, shared by the _native_*.pyx modules
# (as numpy.random shares its bit-generator declarations). Compile-time only: nothing here is imported at run time.
