int asa_placeholder(void);
int asa_placeholder(void) { return 0; }
