# Says "partial" without doing any job.
def handler(event, context):
    return {"processed": 0, "partial": True, "left": event["jobs"]}
