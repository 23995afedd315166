#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image. The harness binary itself
# is in the uploaded zip (built for Linux x86-64, see docs/gradescope.md).
set -eu
apt-get update -qq
apt-get install -y -qq python3 > /dev/null
chmod +x /autograder/source/harness /autograder/source/run_autograder
