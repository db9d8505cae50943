from urllib.parse import unquote_plus


def handler(event, context):
    record = event["Records"][0]
    bucket = record["s3"]["bucket"]["name"]
    key = unquote_plus(record["s3"]["object"]["key"])
    print(f"new upload s3://{bucket}/{key}")
    return {"bucket": bucket, "key": key}
