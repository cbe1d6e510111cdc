#!/usr/bin/env bash
# Runs every SIPp scenario against a freshly started switch (see README, "Tests").
set -euo pipefail
echo "sipp-scenarios: no scenarios yet"
