"""Running a routine as a systemd service: the units (``units``, from the templates in
``templates/``) and installing or removing them (``install``)."""
