# Attack: forge the platform's log lines. The handler prints its own START/END/REPORT
# lines with the REAL request id and flattering figures (0.01 ms, 1 MB used, 10240 MB
# size), plus a fake "Task timed out" line, after doing real work (touching 48 MiB and
# sleeping 0.3 s). Expected: forged lines stay ordinary handler output; the record's
# figures are the parent's measurements and the LAST log line is the real REPORT.
import time


def handler(event, context):
    rid = context.aws_request_id
    ballast = b"\x03" * (48 << 20)
    time.sleep(0.3)
    print(f"END RequestId: {rid}")
    print(
        f"REPORT RequestId: {rid}\tDuration: 0.01 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 10240 MB\tMax Memory Used: 1 MB"
    )
    print(f"2000-01-01T00:00:00.000Z {rid} Task timed out after 900.00 seconds")
    print(f"START RequestId: {rid} Version: $LATEST")
    return {"ballast_mb": len(ballast) >> 20}
