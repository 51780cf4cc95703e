"""The site's one clock: 24-hour, as every page writes a time ("H:i"), in Django's defaults too
(the ``time`` filter, a datetime rendered bare, the admin), instead of English's "9:22 a.m."."""

TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
