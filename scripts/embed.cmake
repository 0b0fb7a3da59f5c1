# cmake -DIN=file -DOUT=header.h -DNAME=symbol -P embed.cmake: the file's bytes as a C array
# NAME[] (NUL-terminated) and NAME_len, so a binary carries its data with no file to find.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from ${IN} by scripts/embed.cmake: do not edit. */\n"
     "static const char ${NAME}[] = {\n${bytes}0};\n"
     "static const unsigned ${NAME}_len = ${len};\n")
