# cmake -DIN=hooks.module.js -DOUT=hooks.mjs -P vendor.cmake: preact/hooks
# with its bare import of "preact" made a relative path.
file(READ ${IN} text)
string(REPLACE "from\"preact\"" "from\"./preact.mjs\"" text "${text}")
string(FIND "${text}" "\"./preact.mjs\"" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${IN}: no import of \"preact\" found to rewrite")
endif()
file(WRITE ${OUT} "${text}")
