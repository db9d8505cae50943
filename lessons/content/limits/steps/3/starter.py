def handler(event, context):
    # 150 000 records of about 2 KB each: roughly 300 MB if all held at once.
    records = ["x" * 2000 + str(i) for i in range(150_000)]
    return {"total": sum(len(record) for record in records)}
