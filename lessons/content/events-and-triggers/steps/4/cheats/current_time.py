import datetime


# Prints the current time instead of the time the event carries.
def handler(event, context):
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"Nightly cleanup at {now}")
