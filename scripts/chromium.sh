# Sourced by test.sh: under CI (CI=true) installs Chromium and its driver from Debian when either is
# missing, so that tests/test_report_browser.py opens a run report in a real browser there; a failed
# install stops the tests. Elsewhere nothing is installed and that test skips, saying why.
if [ "${CI:-}" = "true" ] && ! { command -v chromium && command -v chromedriver; } >/dev/null; then
    chromium_log=$(mktemp)
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    echo "CI: installing chromium and chromium-driver (apt-get) for tests/test_report_browser.py" >&2
    if ! { $as_root apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium chromium-driver; } \
           >"$chromium_log" 2>&1; then
        cat "$chromium_log" >&2
        rm -f "$chromium_log"
        echo "scripts/test.sh: apt-get could not install chromium and chromium-driver (output above)" >&2
        exit 1
    fi
    rm -f "$chromium_log"
fi
