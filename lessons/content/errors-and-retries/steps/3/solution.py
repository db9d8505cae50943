seen = set()  # per environment; use a DynamoDB conditional write in production


def handler(event, context):
    charged = 0
    for payment in event["payments"]:
        if payment["payment_id"] in seen:
            print("skipping duplicate", payment["payment_id"])
            continue
        print("charging", payment["payment_id"], payment["amount"])
        seen.add(payment["payment_id"])
        charged += 1
    return {"charged": charged}
