#!/bin/sh
# Test stand-in (see ../README.md): the official redis image's entrypoint, in short.
set -eu
# Options alone, or a config file: run redis-server with them.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$1" = redis-server ]; then
    # The official build turns protected mode off at compile time; Debian's binary needs the flag.
    shift
    set -- redis-server --protected-mode no "$@"
fi
exec "$@"
