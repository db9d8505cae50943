"""The triggers app's pages: the Triggers tab, its actions, and the buckets/queues API."""
