/* web.c - the viewer page (cli/web/index.html) built into the binary, so
 * prov serve needs no files beside it. */
__asm__(".section .rodata\n"
        ".global prov_web_index\n"
        ".type prov_web_index, @object\n"
        ".balign 16\n"
        "prov_web_index:\n"
        ".incbin \"cli/web/index.html\"\n"
        "prov_web_index_end:\n"
        ".byte 0\n"
        ".global prov_web_index_len\n"
        ".type prov_web_index_len, @object\n"
        ".balign 8\n"
        "prov_web_index_len:\n"
        ".quad prov_web_index_end - prov_web_index\n"
        ".previous\n");
