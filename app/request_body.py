"""Checks on a request's raw JSON body that hold for every route, core and plugins, before a view or a schema sees
it. They run in the request hook (before authentication, like the 413 and 415 checks), so even the unauthenticated
login refuses a hostile body with a 4xx."""

import json
import re

# The API's own bodies are two levels deep; the margin is for plugins. Far below the depth at which
# Python's JSON parser raises RecursionError (about 1,000 with the default recursion limit).
MAX_JSON_DEPTH = 32
# A lone UTF-16 surrogate, e.g. "\ud800" in JSON: no UTF-8 text can hold it, so the database driver would fail.
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_body_problem(raw):
    """``(status, message, details)`` for what makes the JSON body *raw* (bytes) unusable, or None.

    Syntax errors are left to the argument parser, which reports them (400) as it always has.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        return 400, _too_deep(), None
    except ValueError:
        return None
    stack = [(value, 1, None)]
    while stack:  # iterative: walking a deep body must not recurse either
        item, depth, field = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return 400, _too_deep(), None
            pairs = item.items() if isinstance(item, dict) else ((None, child) for child in item)
            for key, child in pairs:
                name = field if field is not None else key
                if key is not None:
                    stack.append((key, depth, name))
                stack.append((child, depth + 1, name))
        elif isinstance(item, str) and _SURROGATE.search(item):
            message = ("A string holds a lone UTF-16 surrogate (an escape such as \\ud800 without its pair), which "
                       "is not Unicode text: send the text as valid UTF-8 or as a complete surrogate pair.")
            return 422, message, {"json": {field if field is not None else "_schema": [message]}}
    return None


def _too_deep():
    return (f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep: send the flat objects the "
            "operation documents.")
