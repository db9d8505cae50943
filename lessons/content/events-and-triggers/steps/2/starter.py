def handler(event, context):
    record = event["Records"][0]
    return {"bucket": record["s3"]["bucket"]["name"], "key": record["s3"]["object"]["key"]}
