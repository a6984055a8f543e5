#!/bin/sh
# dematflow container entrypoint: turn *_FILE variables into the variables they name, then
# run the command.
#
# For every variable DEMATFLOW_<X>_FILE or PG<X>_FILE whose value is a file path (typically a
# docker secret under /run/secrets/), the file's content (trailing newlines removed) is exported
# as DEMATFLOW_<X> / PG<X>. Examples:
#   DEMATFLOW_STORAGE__SECRET_KEY_FILE=/run/secrets/minio_root_password
#   DEMATFLOW_BROKER__URL_FILE=/run/secrets/broker_url
#   PGPASSWORD_FILE=/run/secrets/postgres_password   (libpq reads PGPASSWORD, so the database
#                                                    URL itself carries no password)
# An empty file leaves the variable unset (used for optional secrets such as the PKCS#11 PIN),
# except for the required ones below: an empty DEMATFLOW_SECRET_KEY_FILE would let the public
# default key sign sessions.
# Setting both X and X_FILE is an error. Values are never printed.
set -eu

die() {
    echo "dematflow-entrypoint: $*" >&2
    exit 64
}

names=$(env | sed -n 's/^\(\(DEMATFLOW_\|PG\)[A-Za-z0-9_]*_FILE\)=.*$/\1/p' | sort -u)
for file_var in $names; do
    target=${file_var%_FILE}
    eval "path=\${$file_var}"
    eval "already=\${$target+set}"
    [ -z "$already" ] || die "$target and $file_var are both set: keep only one"
    [ -n "$path" ] || die "$file_var is empty"
    [ -f "$path" ] || die "$file_var: no such file: $path"
    [ -r "$path" ] || die "$file_var: file not readable by uid $(id -u): $path"
    value=$(cat "$path")
    case "$target" in
    DEMATFLOW_SECRET_KEY)
        [ -n "$value" ] || die "$file_var désigne un fichier vide : la clé secrète DEMATFLOW_SECRET_KEY est obligatoire"
        ;;
    esac
    unset "$file_var"
    if [ -n "$value" ]; then
        export "$target=$value"
    fi
done
unset names file_var target path already value

[ "$#" -gt 0 ] || set -- dematflow web --host 0.0.0.0 --port 8000
exec "$@"
