#!/bin/sh
# Soak: the chaos test of the actors package at 1M tasks (1% panics, 0.1%
# handlers that overrun their timeout, random worker crashes), with the race
# detector off so that it runs at full speed. Usage: sh bench/soak.sh [tasks]
set -eu
cd "$(dirname "$0")/.."
DROVER_CHAOS_TASKS="${1:-1000000}" go test -run '^TestChaos$' -count=1 -timeout 60m -v ./actors/
