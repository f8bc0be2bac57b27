"""Where articles come from: the content folder watcher and the feed poller."""
