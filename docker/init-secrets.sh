#!/bin/sh
# Creates the secret files docker/compose.yaml mounts as docker secrets, once.
#   sh docker/init-secrets.sh [DIR]        (DIR defaults to docker/secrets)
# Existing files are kept (run it again after adding a secret: only the missing ones are made).
# The directory is 0700 (only its owner reads it on the host); the files are 0444 so that the
# non-root processes in the containers (uid 10001 for dematflow, 999 for redis) can read the
# ones mounted into them, as with swarm secrets. Never commit this directory.
set -eu
umask 077
dir=${1:-"$(dirname "$0")/secrets"}
mkdir -p "$dir"
chmod 0700 "$dir"

random() {  # $1 characters from [A-Za-z0-9]: safe in URLs and in libpq/redis options
    LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1"
}

put() {  # put NAME VALUE: write the file unless it exists
    if [ -e "$dir/$1" ]; then
        echo "kept    $dir/$1"
    else
        printf '%s' "$2" >"$dir/$1"
        chmod 0444 "$dir/$1"
        echo "created $dir/$1"
    fi
}

put postgres_password "$(random 40)"
put redis_password "$(random 40)"
# The broker URL embeds the Redis password: derive it from the file actually in place.
put broker_url "redis://:$(cat "$dir/redis_password")@redis:6379/0"
put minio_root_user "dematflow-$(random 8)"
put minio_root_password "$(random 48)"
# The application's MinIO identities (docker/minio/setup.sh): the writer, and the legal-hold
# identity only the API holds.
put s3_writer_user "dematflow-app"
put s3_writer_password "$(random 48)"
put s3_holds_user "dematflow-holds"
put s3_holds_password "$(random 48)"
put app_secret_key "$(random 64)"
# Set by whoever initialised the HSM token; empty means "no PIN given" (software signing).
put pkcs11_pin ""
