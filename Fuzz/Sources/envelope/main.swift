import FuzzMain

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

exit(coop_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv))
