#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Fail if any tracked C file is not clang-format clean (.clang-format).
# Fix with: git ls-files '*.c' '*.h' | xargs clang-format -i
cd "$(dirname "$0")/.." || exit 1
if [ -d .git ] && command -v git >/dev/null 2>&1; then
    files=$(git ls-files '*.c' '*.cc' '*.h')
else
    files=$(find src tests -name '*.c' -o -name '*.cc' -o -name '*.h')
fi
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
