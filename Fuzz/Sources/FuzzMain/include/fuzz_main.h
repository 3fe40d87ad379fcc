#ifndef COOP_FUZZ_MAIN_H
#define COOP_FUZZ_MAIN_H

/// Runs libFuzzer on the program's LLVMFuzzerTestOneInput with the command line given (libFuzzer's flags).
/// SwiftPM gives every executable a Swift entry point, so libFuzzer's own main cannot be used: each fuzz
/// target's main.swift calls this instead.
int coop_fuzz_main(int argc, char **argv);

#endif
