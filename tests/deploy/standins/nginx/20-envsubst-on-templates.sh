#!/bin/sh
# Test stand-in (see ../README.md): the official nginx image's template step. Every
# $NGINX_ENVSUBST_TEMPLATE_DIR/**/*.template becomes $NGINX_ENVSUBST_OUTPUT_DIR/** without the
# suffix, with envsubst replacing only the variables set in the environment (so nginx's own
# $variables stay), optionally only those matching NGINX_ENVSUBST_FILTER.
set -eu
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

# shellcheck disable=SC2016
defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))
[ -d "$template_dir" ] || exit 0
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative_path="${template#"$template_dir/"}"
    output_path="$output_dir/${relative_path%"$suffix"}"
    mkdir -p "$(dirname "$output_path")"
    echo "$0: running envsubst on $template to $output_path"
    envsubst "$defined_envs" < "$template" > "$output_path"
done
