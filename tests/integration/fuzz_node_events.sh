#!/usr/bin/env bash
# The node event line parser under libFuzzer for a bounded time (FUZZ_SECONDS).
exec "$(dirname "$0")/../fuzz/run" node_events
