def handler(event, context):
    charged = 0
    for payment in event["payments"]:
        print("charging", payment["payment_id"], payment["amount"])
        charged += 1
    return {"charged": charged}
