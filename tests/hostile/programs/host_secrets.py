# Attack: look for host secrets. Return every environment variable name the handler
# can see (host variables such as HOME, USER, DJANGO_SETTINGS_MODULE or SECRET_KEY
# must not be there), and try to open/list each path in event["paths"] (project
# files, the database, /root, /etc/passwd). The sandbox's mount namespace binds only
# /usr, the interpreter and the runtime, so host paths must not exist.
import os


def handler(event, context):
    found = {}
    for path in event.get("paths", []):
        try:
            if os.path.isdir(path):
                found[path] = {"listing": sorted(os.listdir(path))}
            else:
                with open(path, "rb") as handle:
                    found[path] = {"read": len(handle.read())}
        except OSError as exc:
            found[path] = {"error": type(exc).__name__}
    return {"environ": sorted(os.environ), "paths": found}
