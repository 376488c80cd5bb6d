#!/usr/bin/env bash
# The experiment parser under libFuzzer for a bounded time (FUZZ_SECONDS).
exec "$(dirname "$0")/../fuzz/run"
