#!/bin/bash
# Guest side of `compliance/run shell`: exec.sh with no command.
exec bash "$(dirname "$0")/exec.sh"
