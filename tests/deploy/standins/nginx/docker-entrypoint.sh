#!/bin/sh
# Test stand-in (see ../README.md): the official nginx image's entrypoint, in short: before
# nginx starts, run the executable /docker-entrypoint.d/*.sh in order.
set -eu
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    find /docker-entrypoint.d/ -follow -type f -name '*.sh' -print | sort -V | while read -r script; do
        if [ -x "$script" ]; then
            echo "$0: running $script"
            "$script"
        fi
    done
fi
exec "$@"
