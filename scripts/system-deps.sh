#!/usr/bin/env bash
# The Debian packages the test suite needs beyond Python: chromium (browser tests, great-tables
# PNG/PDF), poppler-utils (pdftotext, pdftoppm) and WeasyPrint's pango, harfbuzz and a font.
# Installs what is missing when run as root; otherwise prints the one command to run and fails.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then
  missing+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
fi
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "system-deps: the tests need Debian packages that are missing; run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
