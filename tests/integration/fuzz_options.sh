#!/usr/bin/env bash
# The command-line option parser under libFuzzer for a bounded time (FUZZ_SECONDS).
exec "$(dirname "$0")/../fuzz/run" options
