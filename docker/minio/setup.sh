#!/bin/sh
# Creates (or updates) dematflow's two MinIO identities and their policies, then exits.
# Run by the `minio-setup` service of docker/compose.yaml (image minio/mc) before the
# application starts; idempotent, safe to run at every `up`.
#   writer  (secrets s3_writer_user / s3_writer_password): what the application writes with:
#           tenant buckets (Object Lock, default retention), objects under COMPLIANCE retention;
#           denied legal holds, governance bypass and bucket removal (writer-policy.json).
#   holds   (secrets s3_holds_user / s3_holds_password): the archivist's legal holds only,
#           given to the `api` service alone (holds-policy.json).
# COMPLIANCE mode itself forbids everyone, root included, to shorten a lock or delete a locked
# version; the policies add that the writer cannot hold or release a package.
set -eu

secret() { cat "/run/secrets/$1"; }
here=$(dirname "$0")
mc alias set dematflow http://minio:9000 "$(secret minio_root_user)" "$(secret minio_root_password)" >/dev/null

ensure() {  # ensure USER_SECRET PASSWORD_SECRET POLICY FILE
    user=$(secret "$1")
    mc admin user add dematflow "$user" "$(secret "$2")" >/dev/null
    mc admin policy create dematflow "$3" "$here/$4" >/dev/null
    mc admin policy attach dematflow "$3" --user "$user" >/dev/null 2>&1 || true  # already attached
    echo "minio-setup: $user <- $3"
}

ensure s3_writer_user s3_writer_password dematflow-writer writer-policy.json
ensure s3_holds_user s3_holds_password dematflow-holds holds-policy.json
