#!/usr/bin/env bash
# Checks a Containerfile statically (no network, no podman): at least two FROM stages; the last
# stage installs no compiler, build tool or -dev package; it runs as a USER that is not root; it
# has a HEALTHCHECK, a VOLUME for the audit spool and an ENTRYPOINT.
# Usage: deploy/container/check.sh [FILE]     (default: the Containerfile next to this script)
# Exit 0 when fit; else 1, one line per problem ("FILE: problem").
set -uo pipefail
set -f # words of RUN lines are never globbed against this machine's files

file=${1:-"$(dirname "$0")/Containerfile"}
spool=/var/lib/hubgate/spool
if [ ! -r "$file" ]; then
  echo "$file: cannot read it"
  exit 1
fi

# Instructions one per line: comments and blank lines dropped, backslash continuations joined.
instructions=()
current=""
while IFS= read -r line || [ -n "$line" ]; do
  if [ -z "$current" ]; then
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  elif [[ "$line" =~ ^[[:space:]]*# ]]; then
    continue # a comment inside a continued instruction
  fi
  if [[ "$line" =~ ^(.*)\\[[:space:]]*$ ]]; then
    current+="${BASH_REMATCH[1]} "
    continue
  fi
  instructions+=("$current$line")
  current=""
done < "$file"
[ -n "$current" ] && instructions+=("$current")

problems=()
froms=0
last=-1 # index of the last FROM
for i in "${!instructions[@]}"; do
  read -r keyword _ <<< "${instructions[$i]}"
  if [ "${keyword^^}" = FROM ]; then
    froms=$((froms + 1))
    last=$i
  fi
done
if [ "$froms" -lt 2 ]; then
  problems+=("$froms FROM stage(s): expected a build stage and a runtime stage (at least two)")
fi

user="" healthcheck="" volume=0 entrypoint=0
if [ "$last" -ge 0 ]; then
  for ((i = last + 1; i < ${#instructions[@]}; i++)); do
    text=${instructions[$i]}
    read -r keyword rest <<< "$text"
    case "${keyword^^}" in
      RUN)
        # Words as apt/dnf/apk would see them; JSON exec form brackets and quotes and commas go.
        for word in $(tr -d '[]",' <<< "$rest" | tr ';&|()' '     '); do
          w=${word%%:*} # libfoo-dev:amd64 → libfoo-dev
          if [[ "$w" =~ ^(gcc|g\+\+|cc|c\+\+|clang|clang\+\+|make|cmake|build-essential)(-[0-9.]+)?$ ]] ||
             [[ "$w" =~ ^[a-z0-9][a-z0-9.+-]*-dev$ ]]; then
            problems+=("final stage: RUN mentions the build package or tool \"$w\" (no compilers or -dev packages at runtime)")
          fi
        done
        ;;
      USER) user=${rest%%[[:space:]]*} ;;
      HEALTHCHECK) healthcheck=$rest ;;
      VOLUME) grep -q -- "$spool" <<< "$rest" && volume=1 ;;
      ENTRYPOINT) entrypoint=1 ;;
    esac
  done
  name=${user%%:*}
  if [ -z "$user" ]; then
    problems+=("final stage: no USER (it would run as root)")
  elif [ "$name" = root ] || [ "$name" = 0 ]; then
    problems+=("final stage: USER $user runs it as root")
  fi
  if [ -z "$healthcheck" ]; then
    problems+=("final stage: no HEALTHCHECK")
  elif [ "${healthcheck^^}" = NONE ]; then
    problems+=("final stage: HEALTHCHECK NONE")
  fi
  [ "$volume" = 1 ] || problems+=("final stage: no VOLUME for the spool ($spool)")
  [ "$entrypoint" = 1 ] || problems+=("final stage: no ENTRYPOINT")
fi

if [ ${#problems[@]} -eq 0 ]; then
  exit 0
fi
for p in "${problems[@]}"; do echo "$file: $p"; done
exit 1
