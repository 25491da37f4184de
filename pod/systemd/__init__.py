"""systemd: unit files for containers (`pod generate systemd`) and the readiness a Type=notify
unit waits for (sd_notify from `pod run -d --sdnotify=conmon`)."""
