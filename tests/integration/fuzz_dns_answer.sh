#!/usr/bin/env bash
# The answers of dns-fail --answer to untrusted queries under libFuzzer for a bounded time (FUZZ_SECONDS).
exec "$(dirname "$0")/../fuzz/run" dns_answer
