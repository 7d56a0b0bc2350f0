# Schemathesis hooks for test/fuzz/edge-fuzz.test.ts (loaded with SCHEMATHESIS_HOOKS=st_hooks):
# a check that no answer carries stack or internal text, beside Schemathesis' not_a_server_error.
import re

import schemathesis

STACK_TEXT = re.compile(
    r"\bat [\w.<>$]+ \(|\bat (?:file://)?/[\w./-]+\.(?:ts|js|mjs):\d+|node:internal|Traceback \(most recent|"
    r"Cannot read properties of|is not a function|RangeError|TypeError|ReferenceError|\$response|ECONNREFUSED|ECONNRESET"
)


@schemathesis.check
def no_stack_text(ctx, response, case):
    text = response.text or ""
    match = STACK_TEXT.search(text)
    if match:
        raise AssertionError(f"internal text in the answer: {match.group(0)!r}")
    return None
