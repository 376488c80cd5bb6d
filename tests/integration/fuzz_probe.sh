#!/usr/bin/env bash
# The probe response parser under libFuzzer for a bounded time (FUZZ_SECONDS).
exec "$(dirname "$0")/../fuzz/run" probe
