#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# doc/configuration.md must be exactly what config.def generates
# (regenerate with: make update-docs).
echo "1..1"
out=$(mktemp)
"${GLIA_ADMIN_BIN:-src/glia-admin}" config-doc > "$out"
if cmp -s "$out" "${top_srcdir:-.}/doc/configuration.md"; then
    echo "ok 1 - doc/configuration.md matches src/util/config.def"
else
    echo "not ok 1 - doc/configuration.md is stale: run make update-docs"
    diff -u "${top_srcdir:-.}/doc/configuration.md" "$out" | sed 's/^/# /'
fi
rm -f "$out"
