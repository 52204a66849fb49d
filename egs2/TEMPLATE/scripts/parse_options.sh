#!/usr/bin/env bash
# Parse `--name value` / `--name=value` options into shell variables of the same name.
#
# Source it after declaring every option with its default:
#     stage=1; nj=4; help_message="Usage: $0 [options]"
#     . parse_options.sh
# Dashes and underscores in names are interchangeable (--stop-stage == --stop_stage).
# An option with no variable declared before this script is an error (exit 1) that
# names the option and lists the known ones, so a typo never passes silently.
# Positional arguments after the options are left in "$@"; `--` ends the options.
#
# Two optional arrays of the caller's (upper case: not options themselves), declared before this script:
#   declare -A RENAMED_OPTIONS=([topk]="use --kd_topk")   an option the script no longer takes stops it with
#       "ERROR: <script>: --topk was renamed: use --kd_topk" (what replaced it), not "unknown option";
#   OTHER_OPTIONS=()   unknown options are collected there, as --name value pairs, instead of refused
#       (a script that passes them on to another, which refuses what it does not know).

# Options are the caller's own lowercase, non-exported shell variables.
__kd_option_names="$(comm -23 <(compgen -v | LC_ALL=C sort) <(compgen -e | LC_ALL=C sort) \
    | grep -E '^[a-z][a-z0-9_]*$' | grep -v -x -e help_message | tr '\n' ' ')"

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            printf '%s\n' "${help_message:-Usage: $0 [--option value ...]}"
            printf 'Options (current values):\n'
            for __kd_name in ${__kd_option_names}; do printf '  --%s %q\n' "${__kd_name}" "${!__kd_name}"; done
            exit 0 ;;
        --)
            shift; break ;;
        --*=*)
            __kd_name="${1%%=*}"; __kd_value="${1#*=}"; shift ;;
        --*)
            __kd_name="$1"
            if [ $# -lt 2 ]; then
                echo "ERROR: option ${__kd_name} needs a value" >&2; exit 1
            fi
            __kd_value="$2"; shift 2 ;;
        *)
            break ;;
    esac
    __kd_name="${__kd_name#--}"
    __kd_name="${__kd_name//-/_}"
    if [[ " ${__kd_option_names} " != *" ${__kd_name} "* ]]; then
        if [[ "$(declare -p RENAMED_OPTIONS 2> /dev/null)" == "declare -A"* ]] \
                && [ -n "${RENAMED_OPTIONS[${__kd_name}]+set}" ]; then
            echo "ERROR: ${0##*/}: --${__kd_name} was renamed: ${RENAMED_OPTIONS[${__kd_name}]}" >&2
            exit 1
        fi
        if [[ "$(declare -p OTHER_OPTIONS 2> /dev/null)" == "declare -a"* ]]; then
            OTHER_OPTIONS+=("--${__kd_name}" "${__kd_value}")
            continue
        fi
        echo "ERROR: $0: unknown option --${__kd_name}" >&2
        echo "       known options: $(printf -- '--%s ' ${__kd_option_names})" >&2
        exit 1
    fi
    printf -v "${__kd_name}" '%s' "${__kd_value}"
done
unset __kd_name __kd_value __kd_option_names
