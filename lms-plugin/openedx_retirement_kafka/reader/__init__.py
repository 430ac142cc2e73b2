"""
``openedx-retirement-reader``: publish retirement events from outside the LMS.

For sites that cannot install the plugin into the LMS. It reads the LMS retirement API
(``retirements_by_status_and_date``) with an OAuth2 client, day by day, and publishes the same
events, with the same ``ce_id``, as the plugin's receiver. No Django: nothing on this path
imports it (see docs/out-of-band-reader.md).
"""
