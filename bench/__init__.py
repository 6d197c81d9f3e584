"""The benchmark of issue 9: ``make bench`` (``bash bench/run.sh``, i.e. ``python -m bench``) starts the stack as
``make up`` does, on free ports and its own databases, vhost and Redis database, and measures throughput,
latency, drain, loss, duplicates and memory, with the machine's baselines in the same run."""
