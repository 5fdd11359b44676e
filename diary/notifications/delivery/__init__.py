"""Push transports: Web Push (VAPID), FCM HTTP v1 and APNs, behind one synchronous ``Transport`` interface."""
