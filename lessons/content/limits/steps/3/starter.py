def handler(event, context):
    # event["records"] records of about 2 KB each: roughly 300 MB for 150 000 if all held at once.
    records = ["x" * 2000 + str(i) for i in range(event["records"])]
    return {"total": sum(len(record) for record in records)}
